"""The report stage: ``report.md`` and a self-contained ``report.html`` in an experiment folder.

The report is one list of blocks (headings, paragraphs, figures, tables) rendered twice: as
Markdown beside PNG files in ``figures/``, and as one HTML file with the same figures embedded
and a transcript browser. It is built only from files the evaluations left on disk, read
through ``afpipe.contracts``, so ``pipeline report DIR`` rebuilds it at any time.

    load       the eval run folders of an experiment, as typed records
    measures   the numbers shown: read from the summaries, plus comparisons across runs
    findings   the opening prose: what the numbers show, and no more
    tables     every number with its interval, and where it came from
    figures    the PNG figures (matplotlib, imported only when drawing)
    blocks     the block types and number formats
    markdown, html_page, browser   rendering, and the transcripts for the HTML browser
    build      assembly: ``write_report(run_dir)``
"""

from afpipe.report.build import write_report

__all__ = ["write_report"]
