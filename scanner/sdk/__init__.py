"""SDK knowledge pack: loading, detection of embedded SDKs and packers, attribution of code and hosts."""
