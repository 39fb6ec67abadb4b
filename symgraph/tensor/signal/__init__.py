"""Signal processing ops: pooling (``pool``) and the legacy ``downsample`` names."""
