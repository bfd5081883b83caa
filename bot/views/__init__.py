"""The view layer: card templates rendered with data, and card data in an admin's words.

May import domain and storage types; never webex calls or commands.
"""
