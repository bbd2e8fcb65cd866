"""qwenvoice.settings"""
