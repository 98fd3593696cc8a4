"""A stand-in for transformers 4.30.0, which has no EncodecModel (python-oldtransformers)."""
__version__ = "4.30.0"
