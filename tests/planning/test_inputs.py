import pytest

from planning.graduates import TargetedStudentModel
from planning.inputs import Scenario, read_counties, read_teacher_needs
from planning.teachers import SpecialPostModel
from common.errors import FupinError, InputFileError


def teachers(folder, scenario=None):
    return SpecialPostModel.from_files(folder, scenario)


def test_chinese_headers_and_terms(make_data):
    folder = make_data(
        counties__csv="市县代码,市县名称,贫困类别,特岗容量\nWZS,五指山市,国家级,3\nHK,海口市,非贫困,5\n",
        teacher_needs__csv="市县,学段,缺编\n五指山市,小学,2\nHK,初中,1\nHK,幼儿园,2\n")
    counties = read_counties(folder / "counties.csv")
    assert counties[["code", "poverty", "special_post_capacity"]].values.tolist() == [
        ["WZS", "national", 3], ["HK", "none", 5]]
    model = teachers(folder)
    assert model.shortage == {("WZS", "primary"): 2, ("HK", "junior"): 1, ("HK", "preschool"): 2}


def test_gbk_file_is_read(make_data, tmp_path):
    folder = make_data()
    (folder / "teacher_needs.csv").write_bytes("市县,学段,缺编\n五指山市,小学,2\n".encode("gbk"))
    assert read_teacher_needs(folder / "teacher_needs.csv")["county"].tolist() == ["五指山市"]


@pytest.mark.parametrize("needs, message", [
    ("county,stage,shortage\nXX,primary,2\n", "row 2: unknown county 'XX'"),
    ("county,stage,shortage\nWZS,primary,-2\n", "'-2' is negative"),
    ("county,stage,shortage\nWZS,primary,1.5\n", "not a whole number"),
    ("county,stage,shortage\nWZS,senior,2\n", "'senior' is not a known school stage"),
    ("county,stage,shortage\nWZS,primary,2\nWZS,primary,3\n", "row 3: duplicate row for WZS / primary (first at row 2)"),
    ("county,stage\nWZS,primary\n", "missing column 'shortage'"),
])
def test_bad_teacher_needs_are_named(make_data, needs, message):
    with pytest.raises(FupinError) as err:
        teachers(make_data(teacher_needs__csv=needs))
    assert message in str(err.value)
    assert "teacher_needs.csv" in str(err.value)


def test_all_problems_listed_at_once(make_data):
    needs = "county,stage,shortage\nXX,primary,2\nWZS,primary,2\nWZS,primary,2\n"
    with pytest.raises(FupinError) as err:
        teachers(make_data(teacher_needs__csv=needs))
    assert "2 problem(s)" in str(err.value)


def test_bad_counties(make_data):
    counties = "code,name,poverty,special_post_capacity\nWZS,五指山市,national,\nDF,东方市,provincial,4\nDF,东方,none,1\n"
    with pytest.raises(FupinError) as err:
        teachers(make_data(counties__csv=counties))
    text = str(err.value)
    assert "special_post_capacity is empty" in text and "county 'DF' appears twice" in text
    with pytest.raises(InputFileError, match="'rich' is not a known poverty level"):
        read_counties(make_data("d2", counties__csv="code,name,poverty\nA,a,rich\n") / "counties.csv")


def test_floors_above_total_posts(make_data):
    with pytest.raises(FupinError, match="the poverty floors add up to 6 posts, more than total_posts 4"):
        teachers(make_data(), Scenario.from_dict({"total_posts": 4, "poverty_floor": 3}))


def test_missing_file_and_folder(make_data, tmp_path):
    with pytest.raises(FupinError, match=r"missing file\(s\): teacher_needs.csv"):
        teachers(make_data(teacher_needs__csv=None))
    with pytest.raises(FupinError, match="no such folder"):
        teachers(tmp_path / "nowhere")


def test_applicants_fewer_than_intake(make_data):
    data = make_data()
    with pytest.raises(FupinError, match="primary 2019: 7 applicants in all counties, fewer than the annual intake 8"):
        TargetedStudentModel.from_files(data, Scenario.from_dict({"annual_intake": {"primary": 8},
                                                                  "intake_years": [2018, 2019]}))


def test_graduate_data_problems(make_data):
    apps = "county,programme,year,applicants\nWZS,primary,2018,3\nWZS,小学,2018,3\nXX,primary,2018,3\n"
    with pytest.raises(FupinError) as err:
        TargetedStudentModel.from_files(make_data(applicants__csv=apps))
    assert "row 3: duplicate row for WZS / primary / 2018" in str(err.value)
    assert "row 4: unknown county 'XX'" in str(err.value)
    with pytest.raises(FupinError, match="'music' is not a known programme"):
        TargetedStudentModel.from_files(make_data("d2", applicants__csv="county,programme,year,applicants\nHK,music,2018,3\n"))


def test_scenario_defaults_and_overrides(tmp_path):
    assert Scenario.from_yaml(None) == Scenario()
    path = tmp_path / "s.yaml"
    path.write_text("name: t\nweights: {national: 5}\nannual_intake: {preschool: 80}\n", encoding="utf-8")
    s = Scenario.from_yaml(path)
    assert s.weights == {"national": 5, "provincial": 2, "none": 1}
    assert s.annual_intake == {"primary": 200, "preschool": 80}
    assert s.total_posts == 400 and s.intake_years == (2018, 2019, 2020)


@pytest.mark.parametrize("text, message", [
    ("total_post: 300\n", "unknown key 'total_post'"),
    ("total_posts: '300'\n", "total_posts: '300' is not a whole number"),
    ("total_posts: 2.5\n", "total_posts: 2.5 is not a whole number"),
    ("poverty_floor: -1\n", "poverty_floor: -1 must be at least 0"),
    ("weights: {national: 0}\n", "weights: 0 must be at least 1"),
    ("weights: {county: 2}\n", "unknown key 'county'"),
    ("intake_years: 2018\n", "must be a non-empty list of years"),
    ("surplus_penalty: true\n", "surplus_penalty: True is not a whole number"),
    ("- 1\n- 2\n", "must be a mapping"),
    ("total_posts: [1\n", "not valid YAML at line"),
])
def test_scenario_errors(tmp_path, text, message):
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(FupinError) as err:
        Scenario.from_yaml(path)
    assert message in str(err.value) and str(path) in str(err.value)


def test_missing_scenario_file(tmp_path):
    with pytest.raises(FupinError, match="no such scenario file"):
        Scenario.from_yaml(tmp_path / "none.yaml")
