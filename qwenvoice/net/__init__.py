"""qwenvoice.net"""
