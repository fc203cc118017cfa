"""The PP-OCR model files: those inside the wheels, and a folder of larger ones a bureau obtained offline.

A bureau's folder (the `ocr_models` setting) holds the ONNX files of one model set — detection
(`*det*.onnx`), recognition (`*rec*.onnx`), optionally the direction classifier (`*cls*.onnx`) — the
recogniser's character list (`*.txt`, one character a line, as PaddleOCR ships it) and a manifest
`SHA256SUMS` in the form `sha256sum` writes (`<64 hex>  <file name>`, one file a line), made where
the files were obtained. Every file is checked against it before it is loaded: a file the manifest
does not name, or whose sum differs, is refused by name, and nothing is read with it. The sums used
are written into the sidecar (`run.models`), so a page can always be traced to the exact model.
"""

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from digitise.ocr import EngineMissing, ModelFile

MANIFEST = "SHA256SUMS"


class ModelFolderError(ValueError):
    """A bureau's model folder that cannot be used; the message (Chinese) names the file and the rule."""


@dataclass(frozen=True)
class ModelSet:
    label: str  # as people read it after "PP-OCR": "v6 小型" (the page shows it: in Chinese)
    version: str  # rapidocr's OCRVersion value, e.g. "PP-OCRv6"
    det: Path
    rec: Path
    cls: Path
    keys: Path | None = None  # the character list, where the recogniser does not carry it inside

    def files(self) -> list[ModelFile]:
        paths = [self.det, self.rec, self.cls, *([self.keys] if self.keys else [])]
        return [ModelFile(p.name, sha256_of(p)) for p in paths]


@cache
def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _package_folder(package: str) -> Path:
    try:
        module = __import__(package)
    except ImportError as exc:
        raise EngineMissing(f"未安装 PP-OCR 模型包 {package}（pip install {package}）") from exc
    return Path(str(module.__file__)).parent / "models"


@cache
def v4_mobile() -> ModelSet:
    """PP-OCRv4 mobile, the files in the rapidocr_onnxruntime wheel."""
    folder = _package_folder("rapidocr_onnxruntime")
    return ModelSet(
        "v4 移动版",
        "PP-OCRv4",
        folder / "ch_PP-OCRv4_det_infer.onnx",
        folder / "ch_PP-OCRv4_rec_infer.onnx",
        folder / "ch_ppocr_mobile_v2.0_cls_infer.onnx",
    )


@cache
def v6_small() -> ModelSet:
    """PP-OCRv6 small, the files in the rapidocr wheel (the recogniser carries its character list)."""
    folder = _package_folder("rapidocr")
    return ModelSet(
        "v6 小型",
        "PP-OCRv6",
        folder / "PP-OCRv6_det_small.onnx",
        folder / "PP-OCRv6_rec_small.onnx",
        folder / "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
    )


def bureau_models(folder: Path) -> ModelSet:
    """The model set in a bureau's folder, every file checked against the folder's manifest."""
    if not folder.is_dir():
        raise ModelFolderError(f"OCR 模型目录 {folder} 不存在")
    manifest = folder / MANIFEST
    if not manifest.is_file():
        raise ModelFolderError(f"OCR 模型目录 {folder} 缺少校验清单 {MANIFEST}（sha256sum 的输出）")
    sums: dict[str, str] = {}
    for n, line in enumerate(manifest.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        digest, _, name = line.strip().partition(" ")
        name = name.strip().lstrip("*")
        if len(digest) != 64 or not name or any(c not in "0123456789abcdefABCDEF" for c in digest):
            raise ModelFolderError(f"校验清单 {MANIFEST} 第 {n} 行格式不对：应为“64 位十六进制 SHA-256、空格、文件名”")
        sums[name] = digest.lower()
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.name != MANIFEST)
    for path in files:
        if path.suffix.lower() not in (".onnx", ".txt"):
            continue
        if path.name not in sums:
            raise ModelFolderError(f"模型文件 {path.name} 不在校验清单 {MANIFEST} 中，拒绝使用")
        actual = sha256_of(path)
        if actual != sums[path.name]:
            raise ModelFolderError(
                f"模型文件 {path.name} 的 SHA-256 与校验清单不符（清单 {sums[path.name][:12]}…，"
                f"实际 {actual[:12]}…），文件可能已损坏或被替换，拒绝使用"
            )
    for name in sums:
        if not (folder / name).is_file():
            raise ModelFolderError(f"校验清单列出的模型文件 {name} 不在目录 {folder} 中")

    def one(kind: str, required: bool = True) -> Path | None:
        found = [p for p in files if p.suffix.lower() == ".onnx" and kind in p.stem.lower()]
        if len(found) > 1:
            raise ModelFolderError(f"OCR 模型目录中有多个 {kind} 模型：{'、'.join(p.name for p in found)}")
        if not found and required:
            raise ModelFolderError(f"OCR 模型目录 {folder} 中没有 {kind} 模型（文件名含 “{kind}” 的 .onnx）")
        return found[0] if found else None

    det, rec = one("det"), one("rec")
    assert det is not None and rec is not None
    keys = [p for p in files if p.suffix.lower() == ".txt"]
    if len(keys) > 1:
        raise ModelFolderError(f"OCR 模型目录中有多个字符表：{'、'.join(p.name for p in keys)}")
    version = next((v for v in ("PP-OCRv6", "PP-OCRv5", "PP-OCRv4") if v.lower() in rec.name.lower()), "PP-OCRv6")
    return ModelSet(
        f"{rec.stem[:28]}（本馆）",
        version,
        det,
        rec,
        one("cls", required=False) or v6_small().cls,
        keys[0] if keys else None,
    )


@dataclass
class LoadedModels:
    det: Any  # rapidocr TextDetector
    cls: Any  # TextClassifier
    rec: Any  # TextRecognizer


def load(models: ModelSet) -> LoadedModels:
    """rapidocr's three stages on these files, each ONNX session on one thread."""
    from rapidocr import RapidOCR
    from rapidocr.utils.typings import ModelType, OCRVersion

    version = OCRVersion(models.version)
    params: dict[str, Any] = {
        "Global.log_level": "error",
        "EngineConfig.onnxruntime.intra_op_num_threads": 1,
        "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        "Det.model_path": str(models.det),
        "Det.ocr_version": version,
        "Det.model_type": ModelType.MOBILE if version is OCRVersion.PPOCRV4 else ModelType.SMALL,
        "Rec.model_path": str(models.rec),
        "Rec.ocr_version": version,
        "Rec.model_type": ModelType.MOBILE if version is OCRVersion.PPOCRV4 else ModelType.SMALL,
        "Cls.model_path": str(models.cls),
    }
    if models.keys:
        params["Rec.rec_keys_path"] = str(models.keys)
    ocr = RapidOCR(params=params)
    return LoadedModels(ocr._load_det_model(), ocr._load_cls_model(), ocr._load_rec_model())
