"""Renderers: human text (rich) today; markdown, html, junit and json follow the same shape."""
