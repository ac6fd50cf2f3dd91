"""The console: static pages (HTML, CSS, ES modules) served by the gateway at /console."""
