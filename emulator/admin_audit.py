"""(to be written)"""

from flask import Blueprint

blueprint = Blueprint("admin_audit", __name__, url_prefix="/v1")
