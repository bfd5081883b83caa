"""(to be written)"""

from flask import Blueprint

blueprint = Blueprint("rooms", __name__, url_prefix="/v1")
