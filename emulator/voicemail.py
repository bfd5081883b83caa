"""(to be written)"""

from flask import Blueprint

blueprint = Blueprint("voicemail", __name__, url_prefix="/v1")
