"""Benefits room, forms: Flask-WTF for CSRF and rendering; the domain functions validate and
the views attach their field errors."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

CARRIER_CHOICES = [
    SelectChoice("china_mobile", _l("China Mobile")),
    SelectChoice("china_unicom", _l("China Unicom")),
    SelectChoice("china_telecom", _l("China Telecom")),
]


class ActionForm(FlaskForm):
    """Only the CSRF token: a button that POSTs."""


class DataBonusForm(FlaskForm):
    carrier = RadioField(_l("Your carrier"), choices=CARRIER_CHOICES, validators=[Optional()])


class CarrierExportForm(FlaskForm):
    only_new = BooleanField(_l("Only claims not exported before"), default=False)


class UploadForm(FlaskForm):
    file = FileField(_l("CSV file (UTF-8)"))


class PointsExportForm(FlaskForm):
    reason = SelectField(_l("Entries"), choices=[], validators=[Optional()])
    reveal = BooleanField(_l("Include full ID numbers, names and permit numbers (logged)"), default=False)


class CourseForm(FlaskForm):
    code = StringField(_l("Course code"), render_kw={"maxlength": "40", "autocapitalize": "characters"})
    title = StringField(_l("Title"), render_kw={"maxlength": "200"})
    mode = SelectField(_l("Mode"), choices=[SelectChoice("offline", _l("Offline (classroom, project-based)")),
                                            SelectChoice("online", _l("Online"))])
    provider = StringField(_l("Training provider"), render_kw={"maxlength": "200"})
    class_hours = StringField(_l("Class hours"), render_kw={"inputmode": "numeric"})
    cost_yuan = StringField(_l("Cost per person (yuan)"), render_kw={"inputmode": "decimal"})
    credit_code = StringField(_l("Organising enterprise's credit code (blank: city-run)"),
                              render_kw={"maxlength": "24", "autocapitalize": "characters"})
    district = StringField(_l("District"), render_kw={"maxlength": "50"})
    address = StringField(_l("Address (offline courses)"), render_kw={"maxlength": "200"})
    starts_on = DateField(_l("First day"), validators=[Optional()])
    ends_on = DateField(_l("Last day"), validators=[Optional()])
    capacity = StringField(_l("Places (blank: no limit)"), render_kw={"inputmode": "numeric"})
    description = TextAreaField(_l("Description"), render_kw={"maxlength": "2000", "rows": "3"})
    sessions = TextAreaField(_l("Class sessions (offline courses): one per line, the date and its class hours"),
                             render_kw={"rows": "4", "maxlength": "8000", "placeholder": "2021-02-15 4"})


class InvoiceForm(FlaskForm):
    invoice_no = StringField(_l("Invoice number"), render_kw={"maxlength": "40", "autocomplete": "off"})
    amount_yuan = StringField(_l("Invoice total (yuan)"), render_kw={"inputmode": "decimal", "maxlength": "16"})
    cost_yuan = StringField(_l("Proposed cost per person (yuan)"), render_kw={"inputmode": "decimal", "maxlength": "12"})
    file = FileField(_l("The invoice (PDF, JPEG or PNG, at most 5 MB)"),
                     render_kw={"accept": "application/pdf,image/jpeg,image/png"})


class InvoiceReviewForm(FlaskForm):
    decision = RadioField(_l("Decision"), choices=[SelectChoice("approve", _l("Approve")),
                                                   SelectChoice("reject", _l("Reject"))])
    cost_yuan = StringField(_l("Approved cost per person (yuan)"), render_kw={"inputmode": "decimal", "maxlength": "12"})
    note = TextAreaField(_l("Note (required to reject)"), render_kw={"maxlength": "2000", "rows": "2"})


class ReviewForm(FlaskForm):
    decision = RadioField(_l("Decision"), choices=[SelectChoice("approve", _l("Approve")),
                                                   SelectChoice("reject", _l("Reject"))])
    reason = TextAreaField(_l("Reason (required to reject)"), render_kw={"maxlength": "2000", "rows": "3"})


class CheckinForm(FlaskForm):
    code = StringField(_l("Poster code or link"), render_kw={"autocomplete": "off", "maxlength": "2048"})


class PhotoForm(FlaskForm):
    photo = FileField(_l("Photo of your New Year's Eve dinner (JPEG, PNG or WebP, at most 5 MB)"),
                      render_kw={"accept": "image/jpeg,image/png,image/webp"})


class ActivityForm(FlaskForm):
    title = StringField(_l("Title (Chinese)"), render_kw={"maxlength": "200"})
    title_en = StringField(_l("Title (English)"), render_kw={"maxlength": "200"})
    kind = SelectField(_l("Check-in"), choices=[SelectChoice("landmark", _l("Landmark poster QR")),
                                                SelectChoice("photo", _l("Photo upload"))])
    gift_activity = SelectField(_l("Gift activity (有礼)"), choices=[], validators=[Optional()])
    gift = StringField(_l("Gift for each check-in"), render_kw={"maxlength": "200"})
    district = StringField(_l("District"), render_kw={"maxlength": "50"})
    place = StringField(_l("Place (landmarks)"), render_kw={"maxlength": "200"})
    starts_on = DateField(_l("First day"), validators=[Optional()])
    ends_on = DateField(_l("Last day"), validators=[Optional()])
    description = TextAreaField(_l("Description"), render_kw={"maxlength": "2000", "rows": "3"})


class ComplaintForm(FlaskForm):
    credit_code = StringField(_l("Employer's unified social credit code (if you know it)"),
                              render_kw={"maxlength": "24", "autocapitalize": "characters"})
    employer_name = StringField(_l("Employer's name"), render_kw={"maxlength": "200"})
    months = StringField(_l("Months of wages owed"), render_kw={"inputmode": "numeric", "maxlength": "3"})
    amount_yuan = StringField(_l("Amount owed (yuan)"), render_kw={"inputmode": "decimal", "maxlength": "16"})
    description = TextAreaField(_l("What happened"), render_kw={"maxlength": "2000", "rows": "4"})


class HandleComplaintForm(FlaskForm):
    status = SelectField(_l("Status"), choices=[])
    note = TextAreaField(_l("Note (the worker and the employer see it)"), render_kw={"maxlength": "2000", "rows": "3"})


SERVICE_KIND_CHOICES = [
    SelectChoice("canteen", _l("Canteen")),
    SelectChoice("market", _l("Market")),
    SelectChoice("shop", _l("Shop / supermarket")),
    SelectChoice("childcare", _l("Childcare class (小候鸟)")),
    SelectChoice("bus", _l("Bus notice")),
]


class ServiceForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=SERVICE_KIND_CHOICES)
    name = StringField(_l("Name"), render_kw={"maxlength": "200"})
    district = StringField(_l("District"), render_kw={"maxlength": "50"})
    address = StringField(_l("Address"), render_kw={"maxlength": "200"})
    hours = StringField(_l("Opening hours"), render_kw={"maxlength": "200"})
    contact = StringField(_l("Contact telephone"), render_kw={"maxlength": "50"})
    opens_on = DateField(_l("Open from"), validators=[Optional()])
    closes_on = DateField(_l("Open until"), validators=[Optional()])
    notes = TextAreaField(_l("Notes"), render_kw={"maxlength": "2000", "rows": "3"})
