"""qwenvoice.audio"""
