"""qwenvoice.protocol"""
