"""What the librarian accepts, by content (ExifTool's FileType), not by file extension."""

from __future__ import annotations

from pathlib import PurePath

#: ExifTool FileType -> media type. Anything else is quarantined as ``unsupported_type``.
SUPPORTED: dict[str, str] = {
    # images
    "JPEG": "image", "PNG": "image", "HEIC": "image", "HEIF": "image", "AVIF": "image",
    "WEBP": "image", "GIF": "image", "TIFF": "image", "BMP": "image",
    # raw
    "DNG": "raw", "CR2": "raw", "CR3": "raw", "CRW": "raw", "NEF": "raw", "NRW": "raw",
    "ARW": "raw", "SR2": "raw", "SRF": "raw", "RAF": "raw", "ORF": "raw", "RW2": "raw",
    "PEF": "raw", "SRW": "raw", "ERF": "raw", "3FR": "raw", "IIQ": "raw", "RWL": "raw",
    # video
    "MP4": "video", "MOV": "video", "M4V": "video", "3GP": "video", "3G2": "video",
    "MKV": "video", "AVI": "video", "WEBM": "video", "M2TS": "video", "MTS": "video",
    "MPEG": "video", "WMV": "video",
}

#: Extensions we expect to be media, used when ExifTool is unavailable (Pillow/mtime fallback).
EXTENSIONS: dict[str, str] = {
    ".jpg": "JPEG", ".jpeg": "JPEG", ".jpe": "JPEG", ".png": "PNG", ".heic": "HEIC", ".heif": "HEIF",
    ".avif": "AVIF", ".webp": "WEBP", ".gif": "GIF", ".tif": "TIFF", ".tiff": "TIFF", ".bmp": "BMP",
    ".dng": "DNG", ".cr2": "CR2", ".cr3": "CR3", ".crw": "CRW", ".nef": "NEF", ".nrw": "NRW",
    ".arw": "ARW", ".sr2": "SR2", ".srf": "SRF", ".raf": "RAF", ".orf": "ORF", ".rw2": "RW2",
    ".pef": "PEF", ".srw": "SRW", ".erf": "ERF", ".3fr": "3FR", ".iiq": "IIQ", ".rwl": "RWL",
    ".mp4": "MP4", ".mov": "MOV", ".qt": "MOV", ".m4v": "M4V", ".3gp": "3GP", ".3g2": "3G2",
    ".mkv": "MKV", ".avi": "AVI", ".webm": "WEBM", ".m2ts": "M2TS", ".mts": "M2TS", ".mpg": "MPEG",
    ".mpeg": "MPEG", ".wmv": "WMV",
}

def media_type(file_type: str | None) -> str | None:
    return SUPPORTED.get((file_type or "").upper())


def type_from_extension(name: str) -> str | None:
    return EXTENSIONS.get(PurePath(name).suffix.lower())
