"""PIScan: personal-information compliance scanner for Android apps and WeChat mini-programs.

Collectors turn inputs (APK, wxapkg, proxy session) into facts, rules turn facts into findings,
renderers turn findings into reports. See docs/architecture.md.
"""

__version__ = "0.1.0"
