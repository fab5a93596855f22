"""The bytes on disk and nothing else: header, sections, parameters, bodies, zstd framing."""
