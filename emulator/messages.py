"""(to be written)"""

from flask import Blueprint

blueprint = Blueprint("messages", __name__, url_prefix="/v1")
