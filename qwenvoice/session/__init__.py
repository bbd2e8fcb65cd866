"""The conversation, free of Qt: one live Omni conversation (``VoiceSession``) and one TTS job
(``SpeechSession``). The window (through the Qt adapter in ``qwenvoice.app``) and the terminal
commands (``qwenvoice.commands``) both drive these; they report through the listener protocols in
``qwenvoice.session.reports``."""
