"""Domain: the voicemail rules, PIN policy, who may do what, form input, the event object and the
words the bot stores (``vocabulary``).

Pure: no I/O, and imports nothing of the bot outside this package.
"""
