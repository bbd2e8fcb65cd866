"""qwenvoice.localserver"""
