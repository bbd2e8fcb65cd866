"""qwenvoice.ui"""
