"""Swept spectrum analysers: Keysight X-series (N9020A MXA and kin) and R&S FSV."""

from __future__ import annotations

from dataclasses import dataclass, field

from hil.instruments.spec import InstrumentSpec


@dataclass(frozen=True)
class AnalyserSpec(InstrumentSpec):
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
    # The codes and tops of QCoDeS' hardware-tested N9030B driver, which reads *OPT? the same way: the
    # highest frequency each option tunes to (a little above the nominal 3.6/8.4/13.6/26.5/44 GHz).
    frequency_options={"503": 3.7e9, "508": 8.5e9, "513": 13.8e9, "526": 27e9, "544": 44.5e9},
    references={
        "*OPT?": "QCoDeS instrument_drivers/Keysight/N9030B.py (hardware-tested), SpectrumAnalyzerMode: "
                 "frequency options 503/508/513/526/544 → 3.7/8.5/13.8/27/44.5 GHz, found in *OPT?; the "
                 "driver checks the bench's max_frequency against the installed one (an unknown or absent "
                 "code — e.g. 550, which no reference here settles — is not checked)",
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
        "*OPT?": "R&S FSVA/FSV Operating Manual 1176.7510.02, common commands: *OPT? lists B<n> hardware and "
                 "K<n> software options; the frequency range is not an option but the model (*IDN? device "
                 "type 'R&S FSV-7', ...), so *OPT? says nothing about max_frequency",
        "FREQ:STOP? MAX": "R&S SCPI convention (FSL 1300.2519.12 and FSP 1164.4556.12 operating manuals, "
                          "'Responses to Queries': SENSe:FREQuency:STOP? MAX → the highest stop frequency, "
                          "e.g. 3.5E9): the driver checks the bench's max_frequency against what the "
                          "instrument answers",
    },
)
