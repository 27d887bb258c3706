"""The one stylesheet every page carries inline.

Pages are single self-contained files (an operator saves one, a lottery publishes one), so the
CSS travels inside each page's ``<style>``: no external stylesheet, web font, script or image. It
uses the system font stack and sizes in ``rem`` so a phone's text settings apply, and it is small
enough (about 3 KB) that repeating it in every page costs nothing worth a shared file.
"""

from __future__ import annotations

from typing import Final


__all__ = ["PALETTE", "STYLE"]

# Colours for chart series, in order: the Okabe-Ito set (distinguishable with the common colour
# vision deficiencies), less its yellow, which is unreadable on white, plus two darker tones.
PALETTE: Final = (
    "#0072b2",
    "#d55e00",
    "#009e73",
    "#cc79a7",
    "#e69f00",
    "#56b4e9",
    "#000000",
    "#7f3c8d",
    "#8c6d31",
    "#3969ac",
)

STYLE: Final = """\
:root { color-scheme: light; --ink: #1f2328; --muted: #59636e; --line: #d0d7de;
  --soft: #f6f8fa; --accent: #0969da; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
body { margin: 0; color: var(--ink); background: #fff; line-height: 1.5;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "PingFang SC",
    "Hiragino Sans GB", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif; }
main { max-width: 64rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.6rem; line-height: 1.25; margin: 0.5rem 0 1rem; }
h2 { font-size: 1.25rem; margin: 1.75rem 0 0.5rem; }
h3 { font-size: 1.05rem; margin: 1.25rem 0 0.5rem; }
p, ul, ol, dl { margin: 0.5rem 0 1rem; }
a { color: var(--accent); }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  font-size: 0.9em; overflow-wrap: anywhere; }
small, .muted { color: var(--muted); }
nav { display: flex; flex-wrap: wrap; gap: 0.25rem 1rem; padding: 0.5rem 0;
  margin-bottom: 1rem; border-bottom: 1px solid var(--line); }
nav a { text-decoration: none; padding: 0.25rem 0; }
nav a[aria-current] { font-weight: 600; color: var(--ink); }
.table-scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; margin: 0.5rem 0 1rem;
  max-width: 100%; }
table { border-collapse: collapse; min-width: 100%; font-size: 0.95rem; }
caption { text-align: left; font-weight: 600; padding: 0.25rem 0; }
th, td { padding: 0.4rem 0.6rem; border-bottom: 1px solid var(--line); text-align: left;
  vertical-align: top; }
th { background: var(--soft); white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tfoot td, tfoot th { font-weight: 600; border-top: 2px solid var(--ink); }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.25rem 1rem; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
dl.facts ul { margin: 0; padding-left: 1.2rem; }
figure.chart { margin: 1rem 0; }
figure.chart figcaption { font-weight: 600; margin-bottom: 0.25rem; }
.chart svg { display: block; width: 100%; height: auto; max-width: 100%; overflow: visible; }
.chart text { font-size: 13px; fill: var(--muted); }
.chart .empty { font-size: 14px; }
.legend { display: flex; flex-wrap: wrap; gap: 0.25rem 1rem; list-style: none; padding: 0;
  margin: 0.25rem 0; font-size: 0.9rem; }
.swatch { display: inline-block; width: 0.9em; height: 0.9em; margin-right: 0.35em;
  vertical-align: -0.1em; border-radius: 2px; }
form { margin: 0.5rem 0 1rem; }
label { display: block; margin: 0.5rem 0 0.25rem; font-weight: 600; }
input, select, textarea, button { font: inherit; max-width: 100%; }
input, select, textarea { padding: 0.4rem 0.5rem; border: 1px solid var(--line);
  border-radius: 4px; width: 100%; max-width: 28rem; }
input[type=checkbox], input[type=radio] { width: auto; }
button, input[type=submit] { padding: 0.45rem 1rem; border: 1px solid var(--accent);
  border-radius: 4px; background: var(--accent); color: #fff; cursor: pointer; width: auto; }
.error, .notice { padding: 0.75rem 1rem; border-radius: 4px; margin: 0.75rem 0; }
.error { background: #ffebe9; border: 1px solid #ff8182; color: #82071e; }
.notice { background: #ddf4ff; border: 1px solid #54aeff; color: #0a3069; }
@media (max-width: 40rem) {
  main { padding: 0.75rem; }
  h1 { font-size: 1.35rem; }
  dl.facts { grid-template-columns: 1fr; }
  dl.facts dd { margin-bottom: 0.5rem; }
}
@media print { nav { display: none; } .table-scroll { overflow: visible; } }
"""
