"""A stand-in for torchaudio 2.11.0, which loads audio through TorchCodec and has no
get_audio_backend (python-newtorchaudio); sitecustomize.py beside it hides torchcodec."""
__version__ = "2.11.0"
