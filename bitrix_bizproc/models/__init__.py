"""Typed models of the bizproc API: documents, enums, filters, and the rows list methods return."""

from .activity import ActivityDefinition, Property
from .converter import LocalizedText, converter, structure, unstructure
from .documents import DocumentId, DocumentType, user_ref
from .enums import (
    AutoExecute,
    CommentRequired,
    PropertyType,
    TaskActivity,
    TaskCompletion,
    TaskStatus,
    TaskUserStatus,
)
from .filters import Condition, F, Field, Filter, FilterLike
from .page import Page
from .task import Task, TaskField, TaskParameters
from .template import Template, TemplateField
from .user import User
from .workflow import WorkflowInstance

__all__ = [
    "ActivityDefinition",
    "AutoExecute",
    "CommentRequired",
    "Condition",
    "DocumentId",
    "DocumentType",
    "F",
    "Field",
    "Filter",
    "FilterLike",
    "LocalizedText",
    "Page",
    "Property",
    "PropertyType",
    "Task",
    "TaskActivity",
    "TaskCompletion",
    "TaskField",
    "TaskParameters",
    "TaskStatus",
    "TaskUserStatus",
    "Template",
    "TemplateField",
    "User",
    "WorkflowInstance",
    "converter",
    "structure",
    "unstructure",
    "user_ref",
]
