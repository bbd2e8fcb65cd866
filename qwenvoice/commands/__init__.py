"""The terminal face: ``qwenvoice speak``, ``ask`` and ``devices``. Argument handling, printing, exit
codes and terminal audio live here; the conversation itself is the session layer's."""
