"""qwenvoice.app"""
