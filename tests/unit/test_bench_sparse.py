"""bench.sparse: the backtest over sparse real borders counts what it says it counts."""

from bench.sparse import measure

HEADER = ("micnum,eventnum,ccode1,ccode2,stmon,stday,styear,endmon,endday,endyear,sidea1,action,hostlev,"
          "fatalmin1,fatalmax1,fatalmin2,fatalmax2,version\n")


def test_days_per_record_is_the_segments_span_in_days_over_the_records(tmp_path):
    # Kyrgyzstan (703) and Tajikistan (702): a clash, then another 99 days later on the same border
    rows = ["1,1,703,702,1,10,2010,1,10,2010,1,17,4,1,1,0,0,mie-1.0",
            "1,2,703,702,4,19,2010,4,19,2010,1,17,4,0,0,0,0,mie-1.0"]
    path = tmp_path / "two.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n")
    out = measure(path)
    assert out["records"] == 2 and out["transitions"] >= 1  # the first clash had a death
    assert out["days_per_record"] == 100 / 2  # 2010-01-10 to 2010-04-19: 100 days on one key
    assert 0 < out["per_s"] < out["json_loads_per_s"]
