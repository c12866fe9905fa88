"""One owner for a course directory's settings: every instructor's command reads them the same way."""
import pytest

from unet_course.grading.autograde.gradebook import Course, CourseError
from unet_course.grading.course_config import CONFIG, course_config
from unet_course.grading.export import course_directory
from unet_course.grading.similarity_report import course_folders


def test_a_folder_without_the_config_gets_one_message_from_every_command(tmp_path):
    expected = f"{tmp_path / CONFIG} does not exist: --course-dir must be an nbgrader course directory"
    with pytest.raises(FileNotFoundError) as direct:
        course_config(tmp_path)
    with pytest.raises(FileNotFoundError) as export:
        course_directory(tmp_path)
    with pytest.raises(FileNotFoundError) as similarity:
        course_folders(tmp_path, "a1")
    with pytest.raises(CourseError) as autograde:
        Course(tmp_path, "a1")
    messages = {str(e.value) for e in (direct, export, similarity, autograde)}
    assert len(messages) == 1, messages
    assert messages.pop().startswith(expected)


def test_the_config_is_read_as_nbgrader_reads_it(tmp_path):
    (tmp_path / CONFIG).write_text('c = get_config()\nc.CourseDirectory.submitted_directory = "handed_in"\n'
                                   'c.CourseDirectory.course_id = "gis101"\n')
    root, config = course_config(tmp_path / ".")
    assert root == tmp_path.resolve()
    assert config.CourseDirectory.submitted_directory == "handed_in"
    _, dirs = course_directory(tmp_path)
    assert dirs.course_id == "gis101" and dirs.submitted_directory == "handed_in"
