"""(to be written)"""

from flask import Blueprint

blueprint = Blueprint("access_tokens", __name__, url_prefix="/v1")
