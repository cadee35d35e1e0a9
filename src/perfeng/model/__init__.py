"""The measurement model: samples, histograms, aggregation and result documents.

It imports nothing else from perfeng, so every producer and reader can depend on it.
"""

from perfeng.model.recorder import Interval, Measurements, NameStats, Recorder
from perfeng.model.result import FORMAT_VERSION, DocumentError, build_document, load_document
from perfeng.model.sample import ERROR_CLASSES, ErrorClass, Sample

__all__ = [
    "ERROR_CLASSES",
    "FORMAT_VERSION",
    "DocumentError",
    "ErrorClass",
    "Interval",
    "Measurements",
    "NameStats",
    "Recorder",
    "Sample",
    "build_document",
    "load_document",
]
