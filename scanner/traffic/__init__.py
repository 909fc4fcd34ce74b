"""Traffic collectors: the mitmproxy addon, PI detectors, decoders, session store and phases."""
