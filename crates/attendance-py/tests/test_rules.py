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
        faces = [(10, 7, None, vec(5)), (11, 7, None, vec(180)), (12, None, ana, vec(0))]
        decisions, clusters = rules.assign(faces, [ana, ben], [(ana, vec(0)), (ben, vec(90))], 0.42, 0.42, 5000)
        self.assertEqual([d[:3] for d in decisions], [(10, 7, ana), (11, 7, None), (12, None, ana)])
        distance, margin, enrolled = decisions[0][3:]
        self.assertAlmostEqual(distance, 1 - math.cos(math.radians(5)), places=6)
        self.assertAlmostEqual(margin, 0.42 - distance, places=6)  # Ben is past the threshold
        self.assertFalse(enrolled)
        self.assertEqual(decisions[1][3:], (None, None, False))  # unknown: no distance, no margin
        self.assertEqual(decisions[2][3:], (0.0, None, True))  # an enrolled face
        self.assertEqual(clusters, [[11]])

    def test_a_vector_that_is_not_f32_values_is_a_value_error(self):
        with self.assertRaisesRegex(ValueError, "not a multiple of 4"):
            rules.assign([(1, None, None, b"\x00\x00\x80")], [], [], 0.42, 0.42, 10)

    def test_no_faces_no_decisions(self):
        self.assertEqual(rules.assign([], [1], [], 0.42, 0.42, 10), ([], []))


class RegisterCsv(unittest.TestCase):
    def test_rows_are_formula_safe_with_the_nearest_distance(self):
        csv = rules.register_csv([(1, "=Ana, A", True, [(10, 0.2134), (11, 0.3)]), (2, "Ben", False, [])])
        self.assertEqual(
            csv,
            "\ufeffperson_id,name,present,crop_ids,best_distance,mark,by_hand\n"
            "1,\"'=Ana, A\",yes,10 11,0.213,present,no\n2,Ben,no,,,absent,no\n",
        )


if __name__ == "__main__":
    unittest.main()
