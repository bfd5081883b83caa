"""The durable event inbox and the workers that claim and process its events.

May import domain, storage and ops; what processing means is handed in (chat wires it).
"""
