"""The forms (Flask-WTF: each carries its CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    username = StringField(validators=[DataRequired(), Length(max=64)])
    password = PasswordField(validators=[DataRequired(), Length(max=1000)])


class PasswordForm(FlaskForm):
    current = PasswordField(validators=[DataRequired()])
    new = PasswordField(validators=[DataRequired(), Length(max=1000)])
    repeat = PasswordField(validators=[DataRequired()])


class PurchaseForm(FlaskForm):
    date = StringField(validators=[DataRequired()])
    canteen = SelectField(validators=[DataRequired()], validate_choice=False)
    supplier = StringField(validators=[DataRequired()])
    category = StringField(validators=[DataRequired()])
    product = StringField(validators=[DataRequired()])
    quantity = StringField(validators=[DataRequired()])
    unit = StringField(validators=[DataRequired()])
    amount = StringField(validators=[DataRequired()])
    ref = StringField(validators=[DataRequired()])
    line = StringField(default="1")
    note = StringField()


class UploadForm(FlaskForm):
    file = FileField(validators=[FileRequired(), FileAllowed(["csv", "xlsx"], "CSV or XLSX")])


class ReasonForm(FlaskForm):
    reason = StringField(validators=[DataRequired(), Length(max=2000)])


class EmptyForm(FlaskForm):
    """Only the CSRF token (close a month, confirm an import, sign out)."""


class ReportForm(FlaskForm):
    month = StringField(validators=[DataRequired()])
    institution = SelectField(validate_choice=False)
    format = SelectField(choices=[("pdf", "PDF"), ("xlsx", "XLSX")])
    lang = SelectField(choices=[("zh", "中文"), ("en", "English")])


class UserForm(FlaskForm):
    name = StringField(validators=[DataRequired(), Length(max=64)])
    role = SelectField(choices=[(r, r) for r in ("manager", "finance", "planner", "admin")])
    canteens = StringField()
    institutions = StringField()
    password = PasswordField(validators=[DataRequired()])


class MasterForm(FlaskForm):
    kind = SelectField(choices=[(k, k) for k in ("institutions", "canteens", "suppliers", "categories", "packaging")])
    file = FileField(validators=[FileRequired(), FileAllowed(["csv", "xlsx"], "CSV or XLSX")])
