# borderwatch worker image (docker-compose.yml builds it as borderwatch:0.1.0).
#   docker build -t borderwatch:0.1.0 .
#   docker run --rm borderwatch:0.1.0 --help
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# Only what the distribution needs (.dockerignore keeps everything else, secrets included, out
# of the build context). streams/data holds the bundled borders and sample data; it is also
# readable at /app/streams/data for `docker compose run --rm worker replay ...`.
COPY pyproject.toml README.md ./
COPY streams ./streams
COPY detectors ./detectors
COPY alerts ./alerts

# faust-streaming is published as an sdist only: gcc builds its C speedups (without a compiler
# it would fall back to pure Python). The compiler is removed again in the same layer.
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev \
 && pip install . \
 && apt-get purge -y --auto-remove gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/* /app/build /app/*.egg-info

# Non-root. uid 10001 is what deploy/secrets/README.md tells operators to make the token readable by.
RUN groupadd --system --gid 10001 borderwatch \
 && useradd --system --uid 10001 --gid borderwatch --home-dir /var/lib/borderwatch \
      --no-create-home --shell /usr/sbin/nologin borderwatch \
 && install -d -o borderwatch -g borderwatch -m 0750 /var/lib/borderwatch
ENV BORDERWATCH_DATA_DIR=/var/lib/borderwatch
USER 10001:10001

EXPOSE 6066
ENTRYPOINT ["borderwatch"]
# In a container the web API must bind 0.0.0.0 to be reachable through a published port.
CMD ["worker", "--web-host", "0.0.0.0"]
