"""Report generation: tables (Markdown, LaTeX, CSV) and figures from the tidy results."""
