"""Generic `api` channel: any system that can sign a JSON POST can bring its customers' messages."""
