"""The Python side of the boundary: what crosses it and what a bad value gets. The rules
themselves are the Rust crate's (its unit tests), and the Django app's answers equal
facenet-server's (tests/contract/django.test.mjs).

    .venv-django/bin/python -m unittest discover -s crates/attendance-py/tests -v
"""

import math
import struct
import unittest

import facenet_attendance_rules as rules


def vec(angle_deg):
    r = math.radians(angle_deg)
    return struct.pack("<2f", math.cos(r), math.sin(r))


class Assign(unittest.TestCase):
    def test_faces_cross_as_stored_bytes_and_come_back_decided(self):
        ana, ben = 1, 2
        faces = [(10, 7, None, None, vec(5), None), (11, 7, None, None, vec(180), None), (12, None, ana, None, vec(0), None)]
        decisions, clusters = rules.assign(faces, [ana, ben], [(ana, vec(0)), (ben, vec(90))], 0.42, 0.42, 5000)
        self.assertEqual([d[:3] for d in decisions], [(10, 7, ana), (11, 7, None), (12, None, ana)])
        distance, margin, enrolled, by_teacher, unsure, doubt = decisions[0][3:]
        self.assertAlmostEqual(distance, 1 - math.cos(math.radians(5)), places=6)
        self.assertAlmostEqual(margin, 1 - math.cos(math.radians(85)) - distance, places=6)  # Ben, however far
        self.assertFalse(enrolled or by_teacher or unsure or doubt)
        self.assertEqual(decisions[1][3:], (None, None, False, False, None, None))  # unknown: no distance, no margin
        self.assertEqual(decisions[2][3:], (0.0, None, True, False, None, None))  # an enrolled face
        self.assertEqual(clusters, [[11]])

    def test_a_poor_face_crosses_with_its_geometry_and_comes_back_unsure(self):
        # 20 px across, found with 0.99, its five landmarks frontal, sharp: small.
        landmarks = [[4, 6], [14, 6], [9, 10], [5, 15], [13, 15]]
        small = (20.0, 24.0, 0.99, landmarks, 150.0)
        decisions, clusters = rules.assign([(10, 7, None, None, vec(2), small)], [1, 2], [(1, vec(0)), (2, vec(90))], 0.42, 0.42, 10)
        self.assertEqual((decisions[0][2], decisions[0][7:]), (None, (1, "small_face")))
        self.assertEqual(clusters, [], "an unsure face is not clustered")
        lines = rules.register([(1, "Ana")], decisions, [])
        self.assertEqual((lines[0][2], [d[0] for d in lines[0][6]]), (False, [10]))
        self.assertEqual(rules.reference_concerns(small), [("small_face", "the face is small in the photo")])
        self.assertEqual(rules.reference_concerns((120.0, 150.0, 0.99, None, 150.0)), [])
        with self.assertRaisesRegex(ValueError, "five"):
            rules.reference_concerns((120.0, 150.0, None, [[1, 2]], None))
        with self.assertRaisesRegex(ValueError, "not a doubt"):
            rules.register([(1, "Ana")], [(10, 7, None, 0.1, 0.2, False, False, 1, "odd")], [])

    def test_sharpness_is_of_rgb_pixels(self):
        stripes = bytes(b for i in range(12) for b in ((255, 0, 0) if i % 2 else (0, 0, 0)))
        self.assertEqual(rules.sharpness(stripes, 4, 3), (2 * 76) ** 2)
        self.assertIsNone(rules.sharpness(stripes, 4, 4))

    def test_a_teachers_verdict_crosses_as_a_person_id_or_nobody(self):
        faces = [(10, 7, None, 2, vec(5), None), (11, 7, None, "nobody", vec(0), None)]
        decisions, clusters = rules.assign(faces, [1, 2], [(1, vec(0)), (2, vec(90))], 0.42, 0.42, 5000)
        self.assertEqual([(d[2], d[6]) for d in decisions], [(2, True), (None, True)])
        self.assertEqual(clusters, [])
        with self.assertRaisesRegex(ValueError, "nobody"):
            rules.assign([(10, 7, None, "somebody", vec(5), None)], [1], [], 0.42, 0.42, 10)

    def test_a_register_confirms_faces_and_the_gallery_keeps_the_recent_ones_that_are_not_poor(self):
        ana, ben = 1, 2
        faces = [(10, 7, None, None, vec(5), None), (11, 8, None, ben, vec(180), None), (12, None, ana, None, vec(0), None)]
        decisions, _ = rules.assign(faces, [ana, ben], [(ana, vec(0)), (ben, vec(90))], 0.42, 0.42, 5000)
        people = [(ana, "Ana"), (ben, "Ben")]
        self.assertEqual(rules.confirmed_by(people, decisions, []), [(10, ana), (11, ben)])  # not the enrolled 12
        self.assertEqual(rules.confirmed_by(people, decisions, [(ben, "absent")]), [(10, ana)])
        good, small = (120.0, 150.0, 0.99, None, 100.0), (20.0, 24.0, 0.99, None, 100.0)
        confirmed = [(ana, 10, "2026-09-01 09:00:00", good), (ana, 11, "2026-09-03 09:00:00", None),
                     (ana, 12, "2026-09-04 09:00:00", small), (ana, 13, "2026-09-02 09:00:00", good)]
        self.assertEqual(rules.gallery(confirmed, 2), [1, 3])
        self.assertGreaterEqual(rules.GALLERY_SIZE, 1)  # the backends pass it as the size

    def test_a_vector_that_is_not_f32_values_is_a_value_error(self):
        with self.assertRaisesRegex(ValueError, "not a multiple of 4"):
            rules.assign([(1, None, None, None, b"\x00\x00\x80", None)], [], [], 0.42, 0.42, 10)

    def test_no_faces_no_decisions(self):
        self.assertEqual(rules.assign([], [1], [], 0.42, 0.42, 10), ([], []))


class RegisterCsv(unittest.TestCase):
    def test_rows_are_formula_safe_with_the_nearest_distance(self):
        csv = rules.register_csv(
            [
                (1, "=Ana, A", True, "present", False, [(10, 0.2134), (11, 0.3)], []),
                (2, "Ben", False, "absent", False, [], [(12, "close_call")]),
            ]
        )
        self.assertEqual(
            csv,
            "\ufeffperson_id,name,present,crop_ids,best_distance,mark,by_hand,unsure_crop_ids\n"
            "1,\"'=Ana, A\",yes,10 11,0.213,present,no,\n2,Ben,no,,,absent,no,12:close_call\n",
        )


    def test_marks_by_hand_cross_by_name(self):
        seen = (12, 1, 1, 0.2, 0.1, False, False, None, None)
        lines = rules.register([(1, "Ana"), (2, "Ben")], [seen], [(2, "late")])
        self.assertEqual([l[:5] for l in lines], [(1, "Ana", True, "present", False), (2, "Ben", True, "late", True)])
        with self.assertRaisesRegex(ValueError, "not a mark"):
            rules.register([(1, "Ana")], [], [(1, "here")])


class Reports(unittest.TestCase):
    def test_a_class_table_counts_finalised_lessons_only(self):
        lessons = [(10, "Maths", "2026-12-07 09:00:00", True), (11, "Maths", "2026-12-08 09:00:00", False)]
        rows = rules.class_report(lessons, [(1, "Ana", "MIS-1")], [(10, 1, "late"), (11, 1, "absent")])
        self.assertEqual(rows, [(1, "Ana", "MIS-1", ["late", None], (0, 1, 0, 0, 1.0))])
        csv = rules.class_report_csv(lessons, [(1, "Ana", "MIS-1")], [(10, 1, "late")])
        self.assertTrue(csv.startswith("\ufeffperson_id,external_id,name,2026-12-07 09:00 Maths,"))
        self.assertEqual(rules.counts(["present", "excused", "absent"]), (1, 0, 1, 1, 0.5))


class Checks(unittest.TestCase):
    def test_vectors_times_and_days_are_checked_with_the_crates_messages(self):
        models = [("facenet", 2)]
        self.assertEqual(len(rules.validate_vector(models, "v1", "facenet", "v1", [0.6, 0.8])), 8)
        with self.assertRaisesRegex(ValueError, "norm is 2.000000"):
            rules.validate_vector(models, "v1", "facenet", "v1", [1.2, 1.6])
        self.assertEqual(rules.lesson_start("2026-12-07T09:05Z"), "2026-12-07 09:05:00")
        with self.assertRaisesRegex(ValueError, "starts_at"):
            rules.lesson_start("monday")
        with self.assertRaises(ValueError):
            rules.day("2026-02-30")


class Privacy(unittest.TestCase):
    def test_consent_and_retention_cross_as_names_and_numbers(self):
        self.assertEqual(rules.consent_standing([]), "not_asked")
        self.assertEqual(rules.consent_standing([("given", "guardian"), ("refused", "pupil")]), "refused")
        with self.assertRaisesRegex(ValueError, "party"):
            rules.consent_standing([("given", "teacher")])
        d = rules.retention_defaults()
        self.assertEqual((d["lesson_faces_days"], d["template_max_days"], d["keep_attendance_of_erased"]), (30, 1095, True))
        self.assertEqual(len(rules.retention_notice(**d)), 5)
        self.assertEqual(rules.PURGE_KINDS, ["lesson_faces", "photos", "leavers", "templates"])

    def test_reenrolment_and_the_audit_csv(self):
        # A reference face of 2 December 2026 is erased 1095 days on; asked for 60 days before.
        self.assertEqual(rules.reenrolment("2026-12-02 09:00:00", "2029-10-01", 1095), ("2029-12-01", False))
        self.assertEqual(rules.reenrolment("2026-12-02 09:00:00", "2029-10-02", 1095), ("2029-12-01", True))
        self.assertEqual(rules.REENROL_NOTICE_DAYS, 60)
        with self.assertRaises(ValueError):
            rules.reenrolment("yesterday", "2029-10-02", 1095)
        csv = rules.audit_csv([(7, "2026-12-07 09:40:17", "=Ms Rivera", "mark", 4, 812, None, '{"mark":"late"}')])
        self.assertEqual(csv, rules.BOM + 'id,at,actor,action,person_id,session_id,class_id,detail\n'
                         '7,2026-12-07 09:40:17,\'=Ms Rivera,mark,4,812,,"{""mark"":""late""}"\n')


if __name__ == "__main__":
    unittest.main()
