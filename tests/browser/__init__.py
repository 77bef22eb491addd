"""End-to-end tests: a real browser (Debian's chromium, driven by Playwright) against a real
``xinyong serve`` process."""
