"""nbgrader configuration of unet-course (nbgrader 0.9).

- ``solutions/`` is the *source* directory: the instructor's notebooks, with
  ``### BEGIN SOLUTION`` / ``### END SOLUTION`` and hidden-test blocks.
- ``assignments/`` is the *release* directory: what ``nbgrader
  generate_assignment`` makes from ``solutions/`` and students receive
  (``make assignments`` regenerates it; a test fails when it is stale).
- The other steps keep nbgrader's names (``submitted/``, ``autograded/``,
  ``feedback/``) and belong in a course directory *outside* the repository:
  copy this file and ``solutions/`` there (the instructor's guide, docs/instructors.md).

While autograding, nbgrader sets ``NBGRADER_EXECUTION``, so
``unet_course.profile()`` is ``smoke``: 64-pixel tiles, 8 base filters, 3
epochs. Its training cells take seconds on 2 CPU cores; the time-out below
leaves room for a busy grading machine without letting a runaway cell hold
the grader for long.
"""
import os

c = get_config()  # noqa: F821 (nbgrader's config loader defines it)

# Where each step lives, relative to the course root (the folder nbgrader runs in).
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "assignments"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"

# The course's name in nbgrader's exchange (release_assignment, collect).
c.CourseDirectory.course_id = "unet-course"

# Cell time-outs that fit the smoke profile. The longest cells (assignment 4's
# check of train_model and its own training cell, one short training each)
# take about 10 s on 2 free cores; 240 s leaves room for a busy machine.
c.Execute.timeout = 240
c.Execute.startup_timeout = 120
c.Execute.interrupt_on_timeout = True

# Keep TensorFlow's start-up noise out of the executed notebooks and hence out
# of the feedback: kernels inherit these from the grading process. unet_course
# already imports TensorFlow with stderr held back; these also cover a notebook
# that imports tensorflow or keras first. TF_CPP_MIN_LOG_LEVEL=2 hides C++ info
# and warnings; the oneDNN notice ("oneDNN custom operations are on ...")
# ignores that level and only stays away with TF_ENABLE_ONEDNN_OPTS=0, which
# costs nothing measurable for the smoke profile's small models on a CPU.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("PYTHONWARNINGS", "ignore")

# Feedback pages (unet_course.grading.feedback, .late): MathJax inside the page instead of a CDN
# (offline classrooms), tables with cell padding, and a first line on lateness.
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader.preprocessors import GetGrades  # noqa: E402

from unet_course.grading.feedback import TEMPLATES, FeedbackStyle, OfflineMathJax  # noqa: E402
from unet_course.grading.late import LatenessNote  # noqa: E402

import nbgrader  # noqa: E402

# Only generate_feedback's exporter (a child of GenerateFeedback) uses the course's template.
c.GenerateFeedback.HTMLExporter.template_name = "unet_feedback"
c.GenerateFeedback.HTMLExporter.template_file = "unet_feedback.html.j2"
c.GenerateFeedback.HTMLExporter.extra_template_basedirs = [
    str(TEMPLATES), os.path.join(os.path.dirname(nbgrader.__file__), "server_extensions", "formgrader", "templates")]
c.GenerateFeedback.preprocessors = [GetGrades, CSSHTMLHeaderPreprocessor, FeedbackStyle, OfflineMathJax,
                                    LatenessNote]

# Late work (unet_course.grading.late; docs/instructors.md, "Deadlines and late work"): each started day after the due date
# (`nbgrader db assignment add NAME --duedate ...`, moved per student by `unet-course extend`)
# takes 10 % of the score off, all of it after 10 days.
c.AssignLatePenalties.plugin_class = "unet_course.grading.late.LatePenalty"
c.LatePenalty.percent_per_day = 10.0
c.LatePenalty.max_percent = 100.0
