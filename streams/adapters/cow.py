"""Correlates of War (COW) state codes -> ISO 3166-1 alpha-3.

COW numbers states by region (2 USA ... 990 Samoa); MID/MIE rows name the two
sides by these codes. The table covers the states that exist today, so the whole
MIE 1.0 file loads, not only the bundled Central Asian extract (every code in
that extract is marked ``# in the bundled file``).

A COW code is one state through time, and it maps to the ISO3 code of the state
that exists today:

* 365 is Russia *and* the Soviet Union -> ``RUS`` (an AFG-365 event of 1926 is on
  today's AFG-TKM/UZB/TJK border, but MIE codes the dyad, not the place);
* 255 Germany/Prussia and 260 the German Federal Republic -> ``DEU``;
* 345 Yugoslavia, which COW continues as Serbia -> ``SRB``;
* 678 the Yemen Arab Republic, which COW continues as 679 Yemen -> ``YEM``.

States that split or merged into more than one of today's states are left out
on purpose (265 German Democratic Republic, 315 Czechoslovakia, 680 South Yemen,
817 South Vietnam, 730 Korea before 1910, and the pre-unification German and
Italian states): mapping them would invent dyads such as YEM-YEM. A row naming
one of them is reported as a row error on ``ccode1``/``ccode2``. Kosovo (347)
has no ISO 3166 code and is left out too.
"""

from __future__ import annotations

COW_TO_ISO3: dict[int, str] = {
    # North America, Central America, Caribbean
    2: "USA",  # in the bundled file
    20: "CAN",  # in the bundled file
    31: "BHS", 40: "CUB", 41: "HTI", 42: "DOM", 51: "JAM", 52: "TTO", 53: "BRB", 54: "DMA", 55: "GRD",
    56: "LCA", 57: "VCT", 58: "ATG", 60: "KNA", 70: "MEX", 80: "BLZ", 90: "GTM", 91: "HND", 92: "SLV",
    93: "NIC", 94: "CRI", 95: "PAN",
    # South America
    100: "COL", 101: "VEN", 110: "GUY", 115: "SUR", 130: "ECU", 135: "PER", 140: "BRA", 145: "BOL",
    150: "PRY", 155: "CHL", 160: "ARG", 165: "URY",
    # Europe
    200: "GBR",  # in the bundled file
    205: "IRL",
    210: "NLD",  # in the bundled file
    211: "BEL", 212: "LUX",
    220: "FRA",  # in the bundled file
    221: "MCO", 223: "LIE", 225: "CHE",
    230: "ESP",  # in the bundled file
    232: "AND",
    235: "PRT",  # in the bundled file
    255: "DEU",  # in the bundled file (Germany / Prussia)
    260: "DEU",  # German Federal Republic 1955-1990
    290: "POL", 305: "AUT", 310: "HUN", 316: "CZE", 317: "SVK", 325: "ITA", 331: "SMR", 338: "MLT",
    339: "ALB", 341: "MNE", 343: "MKD", 344: "HRV",
    345: "SRB",  # Yugoslavia, continued by COW as Serbia
    346: "BIH", 349: "SVN",
    350: "GRC",  # in the bundled file
    352: "CYP", 355: "BGR", 359: "MDA", 360: "ROU",
    365: "RUS",  # in the bundled file (Russia / USSR)
    366: "EST", 367: "LVA", 368: "LTU", 369: "UKR", 370: "BLR", 371: "ARM", 372: "GEO", 373: "AZE",
    375: "FIN", 380: "SWE", 385: "NOR", 390: "DNK", 395: "ISL",
    # Africa
    402: "CPV", 403: "STP", 404: "GNB", 411: "GNQ", 420: "GMB", 432: "MLI", 433: "SEN", 434: "BEN",
    435: "MRT", 436: "NER", 437: "CIV", 438: "GIN", 439: "BFA", 450: "LBR", 451: "SLE", 452: "GHA",
    461: "TGO", 471: "CMR", 475: "NGA", 481: "GAB", 482: "CAF", 483: "TCD", 484: "COG", 490: "COD",
    500: "UGA", 501: "KEN", 510: "TZA", 516: "BDI", 517: "RWA", 520: "SOM", 522: "DJI", 530: "ETH",
    531: "ERI", 540: "AGO", 541: "MOZ", 551: "ZMB", 552: "ZWE", 553: "MWI", 560: "ZAF", 565: "NAM",
    570: "LSO", 571: "BWA", 572: "SWZ", 580: "MDG", 581: "COM", 590: "MUS", 591: "SYC", 600: "MAR",
    615: "DZA", 616: "TUN", 620: "LBY", 625: "SDN", 626: "SSD",
    # Middle East
    630: "IRN",  # in the bundled file
    640: "TUR",  # in the bundled file
    645: "IRQ", 651: "EGY", 652: "SYR", 660: "LBN", 663: "JOR", 666: "ISR", 670: "SAU",
    678: "YEM",  # Yemen Arab Republic, continued by COW as 679
    679: "YEM", 690: "KWT", 692: "BHR", 694: "QAT", 696: "ARE", 698: "OMN",
    # Asia
    700: "AFG",  # in the bundled file
    701: "TKM",  # in the bundled file
    702: "TJK",  # in the bundled file
    703: "KGZ",  # in the bundled file
    704: "UZB",  # in the bundled file
    705: "KAZ",  # in the bundled file
    710: "CHN",  # (the People's Republic; 713 is Taiwan)
    712: "MNG", 713: "TWN", 731: "PRK", 732: "KOR", 740: "JPN", 750: "IND", 760: "BTN",
    770: "PAK",  # in the bundled file
    771: "BGD", 775: "MMR", 780: "LKA", 781: "MDV", 790: "NPL", 800: "THA", 811: "KHM", 812: "LAO",
    816: "VNM", 820: "MYS", 830: "SGP", 835: "BRN", 840: "PHL", 850: "IDN", 860: "TLS",
    # Oceania
    900: "AUS",  # in the bundled file
    910: "PNG", 920: "NZL", 935: "VUT", 940: "SLB", 946: "KIR", 947: "TUV", 950: "FJI", 955: "TON",
    970: "NRU", 983: "MHL", 986: "PLW", 987: "FSM", 990: "WSM",
}
