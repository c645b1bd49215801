FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY streams ./streams
COPY detectors ./detectors
COPY alerts ./alerts
RUN pip install --no-cache-dir . && useradd --system --home /var/lib/borderwatch borderwatch \
    && mkdir -p /var/lib/borderwatch && chown borderwatch /var/lib/borderwatch
USER borderwatch
ENTRYPOINT ["borderwatch"]
CMD ["worker"]
