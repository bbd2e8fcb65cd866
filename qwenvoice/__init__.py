"""qwenvoice: a desktop voice assistant for Qwen-Omni-Realtime and Qwen-TTS-Realtime."""

__version__ = "0.1.0"
