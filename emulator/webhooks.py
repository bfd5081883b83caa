"""(to be written)"""

from flask import Blueprint

blueprint = Blueprint("webhooks", __name__, url_prefix="/v1")
