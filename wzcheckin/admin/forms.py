"""Admin room, forms (Flask-WTF for CSRF; the reason of an unmasked export is judged by
``exports.clean_reason``)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

FORMATS = ("csv", "xlsx")


class ExportForm(FlaskForm):
    """A masked export: the button pressed names the format; the dashboard's period rides along."""

    format = StringField()
    first = HiddenField()
    last = HiddenField()


class FiguresDownloadForm(FlaskForm):
    """The figures page's download: the button pressed names the format; the page's instant rides
    along, so the file holds what the page showed."""

    format = StringField()
    at = HiddenField()


class FullExportForm(FlaskForm):
    reason = TextAreaField(_l("Why do you need the full numbers?"),
                           render_kw={"maxlength": "500", "rows": "3", "required": True})
    format = SelectField(_l("Format"), choices=[SelectChoice("csv", "CSV"),
                                                      SelectChoice("xlsx", "Excel (XLSX)")])
    first = HiddenField()
    last = HiddenField()
