"""Swept spectrum analysers: Keysight X-series (N9020A MXA and kin) and R&S FSV."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class AnalyserSpec:
    key: str
    model: str
    idn: str
    options: str
    frequency: tuple[float, float]  # Hz
    rbw: tuple[float, float]  # Hz
    vbw: tuple[float, float]  # Hz
    points: tuple[int, int]  # the twin's; a driver reads the instrument's maximum
    default_points: int
    sweep_time: tuple[float, float]  # s, zero span
    min_span: float  # Hz, below it only 0 (zero span)
    reference_level: tuple[float, float]  # dBm
    attenuation: tuple[float, float]  # dB
    detectors: tuple[str, ...]
    #: ``*OPT?`` code → top of the frequency range it installs, Hz.
    frequency_options: dict[str, float] = field(default_factory=dict)
    references: dict[str, str] = field(default_factory=dict)


_XSA = "Keysight X-Series Signal Analyzers, Spectrum Analyzer Mode User's and Programmer's Reference"
KEYSIGHT_XSERIES = AnalyserSpec(
    key="keysight_xseries",
    model="X-series analyser",
    idn="Keysight Technologies,N9020A,TWIN000001,spin-hil-twin",
    options="526,EA3,P26",
    frequency=(0.0, 26.5e9),
    rbw=(1.0, 8e6),
    vbw=(1.0, 50e6),
    points=(1, 40001),
    default_points=1001,
    sweep_time=(1e-6, 6000.0),
    min_span=10.0,
    reference_level=(-170.0, 30.0),
    attenuation=(0.0, 70.0),
    detectors=("NORMal", "AVERage", "POSitive", "SAMPle", "NEGative"),
    frequency_options={"503": 3.6e9, "508": 8.4e9, "513": 13.6e9, "526": 26.5e9, "544": 44e9, "550": 50e9},
    references={
        "*OPT?": "N9020A MXA configuration guide: frequency options 503/508/513/526 (3.6/8.4/13.6/26.5 GHz); "
                 "the driver checks the bench's max_frequency against the installed one",
        ":INST:SEL SA": f"{_XSA}: INSTrument[:SELect] SA — Spectrum Analyzer mode; in another mode "
                        ":TRAC:DATA? is undefined",
        ":CONF:SAN": f"{_XSA}: CONFigure:SANalyzer — the Swept SA measurement (QCoDeS' Keysight N9030B "
                     "driver selects it the same way)",
        ":UNIT:POW DBM": f"{_XSA}: UNIT:POWer DBM — trace values in dBm, what the role promises",
        ":SWE:POIN": "QCoDeS Keysight N9030B allows 1..20001; the N9020A reference gives 1..40001 on newer "
                     "firmware: the driver reads ':SWE:POIN? MAX' from the instrument",
        ":FORM:BORD": f"{_XSA}: FORMat:BORDer NORMal|SWAPped, sent with :FORM REAL,32 before every trace read",
    },
)

RS_FSV = AnalyserSpec(
    key="rs_fsv",
    model="FSV",
    idn="Rohde&Schwarz,FSV-13,TWIN000001/013,spin-hil-twin",
    options="K9,B22",
    frequency=(0.0, 13.6e9),
    rbw=(1.0, 10e6),
    vbw=(1.0, 10e6),
    points=(101, 32001),
    default_points=691,
    sweep_time=(1e-6, 16000.0),
    min_span=10.0,
    reference_level=(-130.0, 30.0),
    attenuation=(0.0, 70.0),
    detectors=("APEak", "NEGative", "POSitive", "SAMPle", "RMS", "AVERage"),
    references={
        "FORM REAL,32": "R&S FSV User Manual, FORMat[:DATA]: REAL,32 blocks are little-endian (no byte-order "
                        "setting); pymeasure's FSL driver reads ASCII traces",
    },
)
