"""`digitise INPUT... -o OUT.pdf`: the pipeline from a terminal, for a scanning room without the service."""

import os
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from digitise import ocr
from digitise.catalogue import Catalogue
from digitise.chinese import reason
from digitise.findings import errors, report
from digitise.models import ModelFolderError
from digitise.ocr import DEFAULT_ENGINE, ENGINES
from digitise.options import DigitiseOptions
from digitise.pipeline import digitise
from digitise.terminal import ChineseTyper

app = ChineseTyper(add_completion=False, pretty_exceptions_enable=False)
console = Console(stderr=True)


@app.command()
def main(
    inputs: list[Path] = typer.Argument(
        ..., metavar="扫描件", help="扫描图像（TIFF/PNG/JPEG）或扫描件 PDF，按扫描顺序"
    ),
    output: Path = typer.Option(..., "-o", "--output", help="输出的 PDF/A 文件"),
    sidecar: Path | None = typer.Option(None, "--sidecar", help="过程元数据 JSON"),
    jobs: int = typer.Option(os.cpu_count() or 1, "--jobs", "-j", min=1, help="并行页数"),
    engine: str = typer.Option(DEFAULT_ENGINE, "--engine", help=f"文字识别引擎：{'、'.join(ENGINES)}"),
    models: Path | None = typer.Option(
        None, "--models", help="本馆自备的 PP-OCR 模型目录（含 SHA256SUMS 校验清单），代替 v6 small"
    ),
    lang: str = typer.Option("chi_sim+eng", "--lang", help="识别语言（Tesseract 写法，如 chi_sim+eng）"),
    catalogue: Path | None = typer.Option(None, "--catalogue", help="卷内目录 JSON（用于数据挂接和书签）"),
    operator: str = typer.Option("", "--operator", help="数字化责任者"),
    work_dir: Path | None = typer.Option(None, "--work-dir", help="中间结果目录（默认 OUT.pdf.work）"),
) -> None:
    try:
        cat = Catalogue.from_json(catalogue) if catalogue else None
    except (OSError, ValueError, KeyError) as exc:
        console.print(f"目录文件 {catalogue} 无法使用：{reason(exc)}", style="red", markup=False)
        raise typer.Exit(2) from exc
    if engine not in ENGINES:
        console.print(f"[red]--engine：没有名为 {engine} 的识别引擎，可选 {'、'.join(ENGINES)}[/red]")
        raise typer.Exit(2)
    options = DigitiseOptions(
        engine=engine, ocr_models=models, languages=lang, jobs=jobs, catalogue=cat, operator=operator, work_dir=work_dir
    )
    try:
        ocr.engine(engine, models).model_files()
    except ModelFolderError as exc:
        console.print(f"--models：{exc}", style="red", markup=False, soft_wrap=True)
        raise typer.Exit(2) from exc
    with Progress(
        TextColumn("[bold]数字化"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=console
    ) as bar:
        task = bar.add_task("pages", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, total=total, advance=done)

        result = digitise(inputs, output, options, sidecar=sidecar, progress=advance)
    if result.findings:
        console.print(report(result.findings), markup=False, soft_wrap=True)
    if errors(result.findings):
        console.print(
            f"未生成 {output}：{len(errors(result.findings))} 项错误须先处理。",
            style="red",
            markup=False,
            soft_wrap=True,
        )
        raise typer.Exit(1)
    resumed = f"，其中 {result.pages_resumed} 页沿用上次中断前的结果" if result.pages_resumed else ""
    console.print(f"已生成 {output}（{len(result.pages)} 页{resumed}）", style="green", markup=False, soft_wrap=True)


if __name__ == "__main__":
    app()
