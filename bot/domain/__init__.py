"""Domain: the voicemail rules, PIN policy, who may do what, form input and the event object.

Pure: no I/O, and imports nothing of the bot outside this package.
"""
